{#- Puts this minion's release on it and configures it for its environment:
    download -> verify -> install -> config -> service. Everything comes from the pillar Holodeck
    writes for the release (pillar/top.sls); the keys read here are lib/salt.ts's statePillarKeys,
    the paths and modes are defaults.yaml's. #}
{%- from 'holodeck/map.jinja' import holodeck_map as paths with context %}
{%- set holodeck = pillar['holodeck'] %}
{%- set app = holodeck['app'] %}
{%- set release = holodeck['release'] %}
{%- set deb = paths['download_dir'] ~ '/' ~ release['file'] %}
{%- set checked = "echo '" ~ release['sha256'] ~ "  " ~ deb ~ "' | sha256sum --check --strict" %}

# The signed URL is read from the pillar by this template when the state runs, never written into
# the state: Salt's own download (file.managed) prints the full URL in its errors and logs, and
# keeps its data (URL included) in the minion's cache. Without diffs: a diff would show the URL.
# Written only when the download runs, which removes it whatever the outcome.
holodeck-download-config:
  file.managed:
    - name: {{ paths['curl_config'] }}
    - source: salt://holodeck/download.curlrc.jinja
    - template: jinja
    - user: root
    - group: root
    - mode: '{{ paths['curl_config_mode'] }}'
    - show_changes: False
    - unless: {{ checked | yaml_dquote }}

# curl writes straight to the file dpkg reads: Salt's cache keeps no second copy named after the
# URL. curl's own errors name the host at most; ours names the release.
holodeck-download:
  cmd.run:
    - name: >-
        fetched=yes;
        { install -d -m {{ paths['download_dir_mode'] }} {{ paths['download_dir'] }} &&
        curl -fsS --retry 3 --config {{ paths['curl_config'] }} -o {{ deb }}.part; } || fetched=no;
        rm -f {{ paths['curl_config'] }};
        if [ $fetched = no ]; then
        rm -f {{ deb }}.part; echo 'downloading release {{ release['id'] }} of {{ app }} failed (the URL is not shown: it is signed)' >&2; exit 1;
        fi;
        chmod {{ paths['deb_mode'] }} {{ deb }}.part && mv {{ deb }}.part {{ deb }}
    - unless: {{ checked | yaml_dquote }}
    - require:
      - file: holodeck-download-config

# Checks the file dpkg is about to read, every time.
holodeck-verify:
  cmd.run:
    - name: {{ checked | yaml_dquote }}
    - require:
      - cmd: holodeck-download

holodeck-install:
  pkg.installed:
    - sources:
      - {{ app }}: {{ deb }}
    - require:
      - cmd: holodeck-verify

# Readable by the service's group only; root owns it, so the app cannot rewrite its own config.
holodeck-config:
  file.managed:
    - name: {{ paths['config_file'] }}
    - source: salt://holodeck/config.ini.jinja
    - template: jinja
    - user: root
    - group: {{ app }}
    - mode: '{{ paths['config_mode'] }}'
    - makedirs: True
    - dir_mode: '{{ paths['config_dir_mode'] }}'
    - require:
      - pkg: holodeck-install

holodeck-service:
  service.running:
    - name: {{ app }}
    - enable: True
    - require:
      - file: holodeck-config
    - watch:
      - pkg: holodeck-install
      - file: holodeck-config
