"""gunicorn settings (placeholder, being built)."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
wsgi_app = "app:create_app()"
