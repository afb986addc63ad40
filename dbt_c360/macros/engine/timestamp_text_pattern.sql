{#- The raw feeds' timestamp format as a SQL regex literal: 'YYYY-MM-DD HH:MM:SS' with an
    optional fraction of 1-6 digits (the exercise sample has milliseconds, other extracts not).
    Engine-neutral (POSIX/Java/RE2 all read it the same way), so not dispatched. -#}
{% macro timestamp_text_pattern() -%}
    '(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?'
{%- endmacro %}
