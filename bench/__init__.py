"""The failover benchmark: bench/failover.py and the modules it is made of."""
