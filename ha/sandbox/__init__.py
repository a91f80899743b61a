"""The local sandbox cluster: four MariaDB servers, supervisord, HAProxy."""
