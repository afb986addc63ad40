-- Every scored pair at or above the review floor (C360_IDENTITY_REVIEW_FLOOR), accepted as one
-- person (is_match: same normalised email, or match probability >= C360_IDENTITY_THRESHOLD) or
-- near the threshold for review, with the match weight and the fields that agreed exactly.
with

pairs as (

    select * from {{ ref('stg_identity__contact_pairs') }}

),

final as (

    select
        contact_id_l,
        contact_id_r,
        match_weight,
        match_probability,
        is_match,
        matched_by,
        agreeing_fields,
        first_name_level,
        surname_level,
        email_level,
        birth_date_level,
        address_level,
        gender_level

    from pairs

)

select * from final
