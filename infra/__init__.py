"""Deployment: the CloudFormation merge template, ``chalice package`` and ``aws cloudformation deploy``.

Every number and name in the generated template is imported from ``chalicelib/resources.py`` (or
read from ``.chalice/config.json``); this package only decides how they become CloudFormation.
"""
