"""The `oms` command: a thin shell over store, connectors, gateway and tui."""
