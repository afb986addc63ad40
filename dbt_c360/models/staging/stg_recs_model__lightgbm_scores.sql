-- The learned recommender's scores (LightGBM lambdarank, c360/recs/model.py), one row per
-- scope, customer and untried category. scope: 'validation' (trained and scored on purchases
-- before next_best_category_cutoff.validation_cutoff_date), 'test' (before cutoff_date) or
-- 'production' (all purchases); train_end_date is that scope's end. Empty with the same
-- columns when the source table has not been written (the recommender then has no lightgbm
-- method, recs_methods).
{%- set scores = source('recs_model', 'lightgbm_scores') %}

with

{% if c360.recs_learned_scores_exist() -%}
scores as (

    select * from {{ scores }}

),

final as (

    select
        cast(scope as {{ dbt.type_string() }}) as scope,
        cast(train_end_date as date) as train_end_date,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(score as {{ c360.recs_double_type() }}) as score

    from scores

)
{%- else -%}
final as (

    select
        cast(null as {{ dbt.type_string() }}) as scope,
        cast(null as date) as train_end_date,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ c360.recs_double_type() }}) as score

    where 1 = 0

)
{%- endif %}

select * from final
