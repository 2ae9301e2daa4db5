{#- Puts this minion's release on it and configures it for its environment:
    download -> verify -> install -> config -> service. Everything comes from the pillar Holodeck
    writes for the release (pillar/top.sls); the keys read here are lib/salt.ts's statePillarKeys. #}
{%- set holodeck = pillar['holodeck'] %}
{%- set app = holodeck['app'] %}
{%- set release = holodeck['release'] %}
{%- set deb = '/var/cache/holodeck/' ~ release['file'] %}

holodeck-download:
  file.managed:
    - name: {{ deb }}
    - source: {{ release['url'] | tojson }}
    - source_hash: sha256={{ release['sha256'] }}
    - makedirs: True
    - mode: '0644'

# file.managed checked the download; this checks the file dpkg is about to read, every time.
holodeck-verify:
  cmd.run:
    - name: echo '{{ release['sha256'] }}  {{ deb }}' | sha256sum --check --strict
    - require:
      - file: holodeck-download

holodeck-install:
  pkg.installed:
    - sources:
      - {{ app }}: {{ deb }}
    - require:
      - cmd: holodeck-verify

# Readable by the service's group only; root owns it, so the app cannot rewrite its own config.
holodeck-config:
  file.managed:
    - name: /etc/holodeck/{{ app }}/config.ini
    - source: salt://holodeck/config.ini.jinja
    - template: jinja
    - user: root
    - group: {{ app }}
    - mode: '0640'
    - makedirs: True
    - dir_mode: '0755'
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
