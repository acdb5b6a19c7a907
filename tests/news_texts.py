"""News paragraphs written for the tests: shared by the across-article and document-cluster tests."""

WIRE_EN = (
    "The regional water board said on Tuesday that the dikes along the river would be "
    "reinforced over the next four years, at a cost of about two hundred million euros, "
    "after inspections found weak spots near three villages."
)

WIRE_NL = (
    "Het waterschap maakte dinsdag bekend dat de dijken langs de rivier de komende vier jaar "
    "worden versterkt, voor ongeveer tweehonderd miljoen euro, nadat bij inspecties zwakke "
    "plekken werden gevonden bij drie dorpen."
)

LOCAL_A = (
    "Residents of the lower town have complained for years about water in their cellars "
    "whenever the river runs high in spring, and welcomed the plan at a packed meeting."
)

SPORT = (
    "The home side scored twice in the last ten minutes to win the derby, lifting the club "
    "out of the relegation zone for the first time since the autumn."
)
