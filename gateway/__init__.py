"""The gateway daemon (pollers, watchers, dispatcher, schedules). Built in a later issue."""
