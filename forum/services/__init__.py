"""Services: the only code that changes state. Each entry point is atomic and emits its
events through realtime.log.append_event, which publishes after commit."""
