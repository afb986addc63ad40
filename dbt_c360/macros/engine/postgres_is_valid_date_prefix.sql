{#-
    Postgres-only helper for safe_to_date / as_timestamp_utc (Postgres has no try_cast):
    true when `expr` matches `pattern` (which must start with YYYY-MM-DD) and its first
    ten characters are a real calendar date. Nested CASE expressions force the evaluation
    order, so the integer casts and make_date only ever see validated digits.
-#}
{% macro postgres_is_valid_date_prefix(expr, pattern) -%}
    (case
        when coalesce({{ expr }} ~ ('^(?:' || {{ pattern }} || ')$'), false) then
            case
                when cast(substr({{ expr }}, 1, 4) as integer) >= 1
                    and cast(substr({{ expr }}, 6, 2) as integer) between 1 and 12
                    then cast(substr({{ expr }}, 9, 2) as integer) between 1 and cast(extract(day from (
                        make_date(cast(substr({{ expr }}, 1, 4) as integer), cast(substr({{ expr }}, 6, 2) as integer), 1)
                        + interval '1 month' - interval '1 day'
                    )) as integer)
                else false
            end
        else false
    end)
{%- endmacro %}
