"""The product category catalogue: one seed file, and everything derived from it.

`make categories` (`python -m c360.categories`) sets the seed
`dbt_c360/seeds/product_categories.csv` from the loaded raw transactions or from a CSV the
user curates, then regenerates every file that names a category (see `derived`).
"""
