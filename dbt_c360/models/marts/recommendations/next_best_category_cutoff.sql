-- The time split of the recommender's offline evaluation (one row). Training = transactions
-- dated before cutoff_date; holdout = from cutoff_date on. cutoff_date is var('recs_cutoff_date')
-- when set, else the day at (1 - var('recs_holdout_fraction')) of the transaction date range.
-- validation_cutoff_date splits the TRAINING range the same way (the day at 1 - holdout fraction
-- of first_transaction_date .. cutoff_date): the served method is chosen on the validation window
-- [validation_cutoff_date, cutoff_date), which ends before the test window starts.
{%- set cutoff_date = var('recs_cutoff_date', none) -%}
{%- set holdout_fraction = var('recs_holdout_fraction', 0.2) | float -%}
{%- if cutoff_date and not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', cutoff_date | string) -%}
    {{ exceptions.raise_compiler_error("var recs_cutoff_date must be YYYY-MM-DD, got '" ~ cutoff_date ~ "'") }}
{%- endif -%}
{%- if not (0 < holdout_fraction < 1) -%}
    {{ exceptions.raise_compiler_error("var recs_holdout_fraction must be between 0 and 1, got " ~ holdout_fraction) }}
{%- endif %}

with

transactions as (

    select * from {{ ref('transactions') }}

),

date_range as (

    select
        min(transaction_date) as first_transaction_date,
        max(transaction_date) as last_transaction_date

    from transactions

),

cutoff as (

    select
        first_transaction_date,
        last_transaction_date,
        {% if cutoff_date -%}
        cast('{{ cutoff_date }}' as date) as cutoff_date,
        {%- else -%}
        {{ c360.recs_split_date('first_transaction_date', 'last_transaction_date', 1 - holdout_fraction) }}
            as cutoff_date,
        {%- endif %}
        {{ 'true' if cutoff_date else 'false' }} as is_cutoff_fixed

    from date_range

),

split_counts as (

    select
        count(case when transactions.transaction_date < cutoff.cutoff_date then 1 end)
            as training_transaction_count,
        count(case when transactions.transaction_date >= cutoff.cutoff_date then 1 end)
            as holdout_transaction_count

    from transactions
    cross join cutoff

),

validation as (

    select
        cutoff_date,
        {{ c360.recs_split_date('first_transaction_date', 'cutoff_date', 1 - holdout_fraction) }}
            as validation_cutoff_date

    from cutoff

),

final as (

    select
        cutoff.cutoff_date,
        validation.validation_cutoff_date,
        cutoff.first_transaction_date,
        cutoff.last_transaction_date,
        cutoff.is_cutoff_fixed,
        coalesce(split_counts.training_transaction_count, 0) as training_transaction_count,
        coalesce(split_counts.holdout_transaction_count, 0) as holdout_transaction_count

    from cutoff
    cross join validation
    cross join split_counts

)

select * from final
