{#- A minion sees its own release's pillar only. The file is chosen by the minion id, which the
    master authenticated with the minion's key, not by grains the minion reports about itself.
    Ids are <app>-<stack>-<release>-<n>; the release's pillar is releases/<app>-<stack>-<release>.sls
    (dots in the name become '_', as SLS names use dots for directories). #}
{%- set release = opts['id'].rsplit('-', 1)[0] | replace('.', '_') %}
base:
  '{{ opts['id'] }}':
    - releases.{{ release }}
