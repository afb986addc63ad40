{#- Fails for every row where the column is zero or negative (nulls are left to not_null).
    `allow_zero_var`: the name of a dbt var (e.g. allow_zero_amount); when that var is true,
    zero passes too and only negative values fail. -#}
{% test is_positive(model, column_name, allow_zero_var=none) %}
{%- set allow_zero = allow_zero_var is not none and (var(allow_zero_var) | string | lower) in ['true', '1'] %}

select *
from {{ model }}
where {{ column_name }} {{ '<' if allow_zero else '<=' }} 0

{% endtest %}
