"""The libraries' book catalogues: harvested over OAI-PMH from INLISLite and SLiMS into the search
index (storage/catalogue.py), nightly and with `pustaka harvest`. See docs/catalogue.md."""
