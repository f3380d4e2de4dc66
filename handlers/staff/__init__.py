"""Staff tools: roles, announcements, events from chat, registrations and statistics.

Every entry point is wrapped by `handlers.staff.access` when it is registered in the router, so
role and scope are checked on every call in one place.
"""
