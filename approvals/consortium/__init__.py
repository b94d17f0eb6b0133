"""What a consortium is set up with: its organisations, people and their roles, the acting
person, clients, the category and supplier catalogue, API tokens and sign-in throttling.
"""
