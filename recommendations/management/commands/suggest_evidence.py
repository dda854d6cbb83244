import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.models import Report
from recommendations.suggestions import suggest

SHOWN = 90  # characters of a passage the listing shows


def shortened(text: str) -> str:
    """The text on one line, cut to SHOWN characters at a word."""
    text = " ".join(text.split())
    if len(text) <= SHOWN:
        return text
    return text[:SHOWN].rsplit(" ", 1)[0] + " …"


class Command(BaseCommand):
    help = (
        "Propose evidence passages for each recommendation of a report: earlier years' quotes "
        "carried forward (word for word or changed) first, then passages ranked by relevance. "
        "--json prints {number: [proposal, …]}; the listing also names the earlier quotes that "
        "vanished. The report's own evidence is never read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the report, e.g. norway-2024")
        parser.add_argument(
            "--top", type=int, default=10, help="proposals per recommendation (default 10)"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help='print a JSON object: each recommendation number ("1", …) to its proposals',
        )

    def handle(self, *args: object, slug: str, top: int, as_json: bool, **options: object) -> None:
        if top < 1:
            raise CommandError(f"--top must be at least 1, not {top}")
        report = Report.objects.filter(slug=slug).first()
        if report is None:
            raise CommandError(f"No report with the slug {slug!r}.")
        suggestions = suggest(report, top)
        numbers = sorted(suggestions.ranked)
        if as_json:
            data = {
                str(n): [p.as_json() for p in suggestions.for_recommendation(n, top)]
                for n in numbers
            }
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        text = report.source_text
        for number in numbers:
            proposals = suggestions.for_recommendation(number, top)
            vanished = suggestions.vanished[number]
            self.stdout.write(
                f"Recommendation {number}: {len(suggestions.carried[number])} carried, "
                f"{len(vanished)} vanished, {len(proposals)} proposed"
            )
            for p in proposals:
                origin = "changed" if p.changed else p.origin
                source = f"E{p.from_evidence} {p.stance}" if p.from_evidence else ""
                self.stdout.write(
                    f"  {origin:<8} {p.score:7.3f}  {source:<14} {shortened(text[p.start : p.end])}"
                )
            for v in vanished:
                source = f"E{v.from_evidence} {v.stance}"
                self.stdout.write(f"  {'vanished':<8} {'':7}  {source:<14} {shortened(v.quote)}")
