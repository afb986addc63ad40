-- One row per day (date_day) from 1 January of the first transaction's year to the build's
-- as-of date (c360.as_of_date: var as_of_date, else the last transaction date): MetricFlow's
-- daily time spine. It ends on the as-of date so that no metric has a period after it; the
-- current period is partial and a cumulative metric at a coarser grain shows its as-of value.
with

transactions as (

    select * from {{ ref('transactions') }}

),

as_of as (

    {{ c360.as_of_date('transactions') }}

),

first_transaction as (

    select
        cast({{ dbt.date_trunc('year', 'coalesce(min(transaction_date), current_date)') }} as date) as first_day

    from transactions

),

bounds as (

    select
        first_transaction.first_day,
        as_of.as_of_date as last_day

    from first_transaction
    cross join as_of

),

digits as (

    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9

),

-- 0 .. 99 999 days (273 years) is more than any range here.
day_offsets as (

    select d1.digit + d2.digit * 10 + d3.digit * 100 + d4.digit * 1000 + d5.digit * 10000 as day_offset

    from digits as d1
    cross join digits as d2
    cross join digits as d3
    cross join digits as d4
    cross join digits as d5

),

final as (

    select
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'bounds.first_day') }} as date) as date_day

    from day_offsets
    cross join bounds
    where day_offsets.day_offset <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}

)

select * from final
