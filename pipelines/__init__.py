"""Scrapy item pipelines: thin adapters over the vendornews core."""
