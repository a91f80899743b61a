"""mysqlha: semi-synchronous MySQL/MariaDB failover under supervisord."""

__version__ = "0.1.0"
