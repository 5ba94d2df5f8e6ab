"""Test and benchmark support: labelled clips of street scenes and natural photographs."""
