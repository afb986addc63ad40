{#-
    Fails for every list row whose score is above the score of the row ranked just before it in
    the same list (partition_by columns): rank 1..k must follow score descending. A tolerance of
    1e-9 allows for float rounding between equal scores (the ranking compares scores rounded to
    9 decimals, then breaks ties by category).
-#}
{% test recs_rank_follows_score(model, partition_by, rank_column='rank', score_column='score') %}

with

lists as (

    select
        {{ partition_by | join(', ') }},
        {{ rank_column }} as list_rank,
        {{ score_column }} as list_score,
        lag({{ score_column }}) over (
            partition by {{ partition_by | join(', ') }}
            order by {{ rank_column }}
        ) as previous_score

    from {{ model }}

),

final as (

    select *
    from lists
    where list_score > previous_score + 1e-9

)

select * from final

{% endtest %}
