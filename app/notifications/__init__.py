"""Messages to customers (SMS now, WeChat later): templates, providers behind one Protocol, an outbox.

Other domains call :func:`app.notifications.service.notify` inside their own transaction.
"""
