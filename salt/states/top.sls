{#- Which states a minion applies. App servers carry the grain role: app (Holodeck's cloud-init sets
    it); states are no secret, so a grain is enough to choose them. #}
base:
  'role:app':
    - match: grain
    - holodeck
