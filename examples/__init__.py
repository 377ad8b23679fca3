"""What a contract-harness user writes: clients and a small server for the shipped contracts."""
