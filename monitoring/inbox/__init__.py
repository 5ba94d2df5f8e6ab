"""The alert inbox: the Alertmanager receiver, the inbox queries and the actions on an alert."""
