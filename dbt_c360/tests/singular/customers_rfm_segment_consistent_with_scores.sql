-- Segment and scores agree: Prospect exactly when there is no purchase (and then no scores);
-- otherwise all three scores are present and the segment's defining score ranges hold.
select
    customer_id,
    rfm_segment,
    recency_score,
    frequency_score,
    monetary_score
from {{ ref('customers') }}
where
    (order_count = 0) <> (rfm_segment = 'Prospect')
    or (order_count = 0 and coalesce(recency_score, frequency_score, monetary_score) is not null)
    or (order_count > 0 and (recency_score is null or frequency_score is null or monetary_score is null))
    or (rfm_segment = 'Champions' and not (recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4))
    or (rfm_segment = 'Loyal Customers' and not (recency_score >= 3 and frequency_score >= 4))
    or (rfm_segment = 'New Customers' and not (recency_score >= 4 and frequency_score <= 2))
    or (rfm_segment = 'Potential Loyalists' and not (recency_score >= 3 and frequency_score between 2 and 3))
    or (rfm_segment = 'Needs Attention' and not (recency_score = 3 and frequency_score = 1))
    or (rfm_segment = 'Cannot Lose Them' and not (recency_score <= 2 and frequency_score >= 4 and monetary_score >= 4))
    or (rfm_segment = 'At Risk' and not (recency_score <= 2 and frequency_score >= 3))
    or (rfm_segment = 'Hibernating' and not (recency_score <= 2 and frequency_score <= 2))
