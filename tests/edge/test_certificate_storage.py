"""The certificate and the ACME account live on Caddy's volume: a new start orders nothing."""

import pytest


@pytest.mark.parametrize("how", ["restart", "recreate"])
def test_a_restarted_proxy_serves_the_same_certificate_and_orders_none(edge, how):
    served = edge.served_certificate()["serialNumber"]
    issued, orders = edge.issued_serials(), edge.orders()
    # Pebble's log does record orders and issuance, so unchanged lists mean something.
    assert len(issued) == len(orders) == 1
    if how == "restart":
        edge.compose("restart", "caddy")
    else:  # a new container, as after an image update: only the named volume carries over
        edge.compose("up", "--detach", "--no-deps", "--force-recreate", "caddy")
    again = edge.wait_for_certificate()  # Caddy serves: it has loaded or obtained one by now
    assert again["serialNumber"] == served
    assert edge.orders() == orders
    assert edge.issued_serials() == issued
