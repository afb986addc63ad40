-- The oracle's ranked new categories per test customer (c360/recs/oracle.py: the generator's
-- true odds of each untried category being the first new one, given the purchases before
-- next_best_category_cutoff.cutoff_date). Written only for generated data whose generator
-- manifest is known; empty with the same columns otherwise (no oracle row in the evaluation).
{%- set lists = source('recs_model', 'oracle_lists') %}

with

{% if c360.recs_oracle_lists_exist() -%}
lists as (

    select * from {{ lists }}

),

final as (

    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(rank as {{ dbt.type_int() }}) as rank,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(odds as {{ c360.recs_double_type() }}) as odds,
        cast(cutoff_date as date) as cutoff_date

    from lists

)
{%- else -%}
final as (

    select
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_int() }}) as rank,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ c360.recs_double_type() }}) as odds,
        cast(null as date) as cutoff_date

    where 1 = 0

)
{%- endif %}

select * from final
