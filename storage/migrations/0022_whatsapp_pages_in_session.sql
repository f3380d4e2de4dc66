-- WhatsApp's long lists are paged by the core now (handlers/paging.py), which keeps the whole
-- list in the person's session like every channel's; the channel's own copy goes.
DROP TABLE IF EXISTS whatsapp_list_pages;
