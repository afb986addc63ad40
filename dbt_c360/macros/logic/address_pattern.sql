{#-
    The regular expression (a SQL string literal) of an Australian address line:
    '..., <suburb>, <STATE>, <4-digit postcode>'. Group 1: the state code, group 2: the
    postcode. Used by c360.address_state and marts.customers' postcode, so every model that
    reads a state or postcode out of an address parses it the same way.
    A plain POSIX-style pattern every engine's regex_extract accepts, so it is not dispatched
    per engine beyond the default.
-#}
{% macro address_pattern() -%}
    {{ return(adapter.dispatch('address_pattern', 'c360')()) }}
{%- endmacro %}

{% macro default__address_pattern() -%}
    ',[ ]*([A-Za-z]{2,3})[ ]*,[ ]*([0-9]{4})[ ]*$'
{%- endmacro %}
