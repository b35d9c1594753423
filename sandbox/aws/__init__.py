"""The sandbox's AWS side: moto in server mode behind an STS gate that enforces trust and identity policies."""
