{#-
    The named RFM segment for recency/frequency/monetary scores 1-5 (null scores = no purchase).
    The rules, first match wins; every combination of scores gets exactly one segment, and
    each name is a row of the rfm_segments seed (description, recommended action):
      no purchase                      -> Prospect
      R>=4, F>=4, M>=4                 -> Champions
      R>=3, F>=4                       -> Loyal Customers
      R>=4, F<=2                       -> New Customers
      R>=3, F>=2                       -> Potential Loyalists
      R<=2, F>=4, M>=4                 -> Cannot Lose Them
      R<=2, F>=3                       -> At Risk
      R<=2, F<=2                       -> Hibernating
      otherwise (R=3, F=1)             -> Needs Attention
    Plain ANSI CASE, the same on every engine, so it is not dispatched.
-#}
{% macro rfm_segment(recency_score, frequency_score, monetary_score) -%}
    case
        when {{ recency_score }} is null then 'Prospect'
        when {{ recency_score }} >= 4 and {{ frequency_score }} >= 4 and {{ monetary_score }} >= 4
            then 'Champions'
        when {{ recency_score }} >= 3 and {{ frequency_score }} >= 4 then 'Loyal Customers'
        when {{ recency_score }} >= 4 and {{ frequency_score }} <= 2 then 'New Customers'
        when {{ recency_score }} >= 3 and {{ frequency_score }} >= 2 then 'Potential Loyalists'
        when {{ recency_score }} <= 2 and {{ frequency_score }} >= 4 and {{ monetary_score }} >= 4
            then 'Cannot Lose Them'
        when {{ recency_score }} <= 2 and {{ frequency_score }} >= 3 then 'At Risk'
        when {{ recency_score }} <= 2 and {{ frequency_score }} <= 2 then 'Hibernating'
        else 'Needs Attention'
    end
{%- endmacro %}
