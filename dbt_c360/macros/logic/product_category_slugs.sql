{#-
    The category slugs of the product_categories seed, in sort_order, read at run time so
    the per-category columns of `customers` follow the seed. Empty while parsing (no
    database access then). Each slug becomes part of a column name, so it is checked
    against a strict identifier pattern.
-#}
{% macro product_category_slugs() -%}
    {#- The ref records the dependency; the query goes to the built seed itself (inside a dbt
        unit test, ref() points at a fixture CTE that a separate run_query cannot see, and
        `graph` is empty). -#}
    {%- set _dependency = ref('product_categories') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {#- Seeds land in schema `marts` (dbt_project.yml, docs/CONTRACT.md). -#}
    {%- set seed_relation = api.Relation.create(
        database=target.get('database'),
        schema=generate_schema_name('marts', none) | trim,
        identifier='product_categories',
    ) -%}
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
