{#-
    SQL date expression: the day at `fraction` of the date range first_date .. last_date,
    i.e. first_date + floor(days between them * fraction) days. The evaluation's cutoff and
    validation cutoff (next_best_category_cutoff) both come from here.
-#}
{% macro recs_split_date(first_date, last_date, fraction) -%}
    {{ return(adapter.dispatch('recs_split_date', 'c360')(first_date, last_date, fraction)) }}
{%- endmacro %}

{% macro default__recs_split_date(first_date, last_date, fraction) -%}
    cast(
        {{ dbt.dateadd(
            'day',
            'floor(' ~ dbt.datediff(first_date, last_date, 'day') ~ ' * ' ~ fraction ~ ')',
            first_date,
        ) }} as date
    )
{%- endmacro %}
