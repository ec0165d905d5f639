"""The web app's routes, one router per kind of answer: HTML pages (`pages`) and the JSON API (`api`)."""
