"""Caddy's container is hardened like the others: no capabilities, read-only, limits, logs."""

from tests.host_helpers import docker


def test_caddy_runs_without_any_capability_on_a_read_only_root(edge):
    (caddy,) = edge.containers("caddy")
    host = edge.inspect(caddy)["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["ReadonlyRootfs"] is True
    # Ports 80 and 443 without CAP_NET_BIND_SERVICE: the container's own network namespace
    # lets every user bind them.
    assert host["Sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "0"}
    status = dict(
        line.split(":", 1)
        for line in docker("exec", caddy, "cat", "/proc/1/status").stdout.splitlines()
    )
    for field in ("CapEff", "CapPrm", "CapBnd"):
        assert int(status[field], 16) == 0, f"{field} is {status[field].strip()}"
    assert status["NoNewPrivs"].strip() == "1"
    write = docker("exec", caddy, "touch", "/etc/caddy/probe", check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr


def test_caddy_has_limits_and_rotated_logs(edge):
    (caddy,) = edge.containers("caddy")
    host = edge.inspect(caddy)["HostConfig"]
    assert host["NanoCpus"] > 0 and host["Memory"] > 0
    assert 0 < host["PidsLimit"] <= 200
    assert host["LogConfig"]["Config"].keys() >= {"max-size", "max-file"}
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
