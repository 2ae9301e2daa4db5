{#- Which states a minion applies: app servers (grains role: app and app: <package>, set by
    Holodeck's cloud-init) get the Holodeck state. States are no secret, so grains may choose them;
    what each minion installs comes from its own, id-selected pillar. #}
base:
  'G@role:app and G@app:*':
    - match: compound
    - holodeck
