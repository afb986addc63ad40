{#-
    True when the oracle's lists (source recs_model.oracle_lists, written by `make build` and
    `make eval-recs` on generated data whose generator manifest is known, c360/recs/step.py)
    exist in the warehouse: next_best_category_evaluation then has method = 'oracle' rows (the
    ceiling). False at parse time and on a warehouse of own data.
-#}
{% macro recs_oracle_lists_exist() -%}
    {#- source() only at run time, as before: at parse time the models calling this do not depend on it -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(c360.relation_exists(source('recs_model', 'oracle_lists'))) }}
{%- endmacro %}
