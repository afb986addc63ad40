{#-
    The category slugs of the product_categories seed, in sort_order, read at run time so
    the per-category columns of `customers` follow the seed. Empty while parsing (no
    database access then). Each slug becomes part of a column name, so it is checked
    against a strict identifier pattern.
-#}
{% macro product_category_slugs() -%}
    {%- set seed_relation = ref('product_categories') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select category_slug from {{ seed_relation }} order by sort_order
    {%- endset -%}
    {%- set slugs = run_query(query).columns[0].values() | list -%}
    {%- for slug in slugs -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]{0,50}$', slug) -%}
            {{ exceptions.raise_compiler_error("product_categories: category_slug '" ~ slug ~ "' is not a valid column-name part") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(slugs) }}
{%- endmacro %}
