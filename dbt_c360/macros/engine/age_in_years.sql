{#-
    Completed years between `birth_date` and `as_of` (both dates). A birthday counts from its
    day on: the age goes up on the birthday itself, not the day before. Someone born on
    29 February is a year older from 1 March in non-leap years (the birthday is not reached
    on 28 February). Null when either input is null.
-#}
{% macro age_in_years(birth_date, as_of) -%}
    {{ return(adapter.dispatch('age_in_years', 'c360')(birth_date, as_of)) }}
{%- endmacro %}

{#- Portable: year difference minus one when the (month, day) of as_of is before the birthday. -#}
{% macro default__age_in_years(birth_date, as_of) -%}
    cast(
        extract(year from {{ as_of }}) - extract(year from {{ birth_date }})
        - case
            when extract(month from {{ as_of }}) * 100 + extract(day from {{ as_of }})
                < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
                then 1
            else 0
        end
    as integer)
{%- endmacro %}

{#- DuckDB: datediff('year', ...) counts calendar-year boundaries (one too many before the
    birthday), so the portable month/day comparison is used. -#}
{% macro duckdb__age_in_years(birth_date, as_of) -%}
    {{ c360.default__age_in_years(birth_date, as_of) }}
{%- endmacro %}

{#- Postgres: age() returns a justified interval whose year part is exactly the completed
    years (29 Feb -> 28 Feb of a non-leap year is 11 months 30 days). -#}
{% macro postgres__age_in_years(birth_date, as_of) -%}
    cast(extract(year from age(cast({{ as_of }} as date), cast({{ birth_date }} as date))) as integer)
{%- endmacro %}

{#- Spark: months_between treats two month-ends as whole months (29 Feb -> 28 Feb counts a
    full year), so the portable month/day comparison is used instead. -#}
{% macro spark__age_in_years(birth_date, as_of) -%}
    {{ c360.default__age_in_years(birth_date, as_of) }}
{%- endmacro %}
