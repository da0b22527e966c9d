"""Scrapy side of vendornews: the settings module and the ``vendor_news`` spider."""
