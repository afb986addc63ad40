{#-
    The method(s) marts.next_best_category serves, read at run time from the validation table
    (is_served), so the production model builds only the served method's lists instead of every
    method's (running all of them made the 100k recommender step about 4x slower).
    At parse time, or when the validation table does not exist or has no served row yet, it
    returns ['model'].
    Only names in recs_methods() are returned, so a value read from the table never reaches
    the SQL unchecked.

    Arguments:
      validation - relation with method, is_served (marts.next_best_category_validation)
    Output: a list of method names.
-#}
{% macro recs_served_methods(validation) -%}
    {{ return(adapter.dispatch('recs_served_methods', 'c360')(validation)) }}
{%- endmacro %}

{% macro default__recs_served_methods(validation) -%}
    {%- set served = [] -%}
    {#- load_relation: the table may not exist yet (a first compile, sqlfluff's templater) -#}
    {%- if execute and load_relation(validation) is not none -%}
        {%- set result = run_query('select distinct method from ' ~ validation ~ ' where is_served order by method') -%}
        {%- for row in result.rows -%}
            {%- if row[0] in c360.recs_methods() -%}
                {%- do served.append(row[0]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(served if served else ['model']) }}
{%- endmacro %}
