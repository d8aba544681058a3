"""The demo's sites (3 to 5 of a coordinator, more for benchmarks; the first ones in one region)
and their partners: each site's operator, funders, prescribers, employers and training
organisations, linked to every site that works with them."""

from __future__ import annotations

import re
from datetime import timedelta

from fabriqueterm.demo.base import BaseGenerator, GeneratedSite, ascii_slug, contains_any
from fabriqueterm.domain.ids import partner_site_id


class SitesAndPartners(BaseGenerator):
    def make_sites(self, count: int) -> None:
        rng, words = self.rng, self.words
        by_region: dict[str, list[tuple[str, str, str]]] = {}
        for city in words.cities:
            by_region.setdefault(city[1], []).append(city)
        wanted = min(count, 5)
        regions = [r for r, cities in by_region.items() if len(cities) >= wanted] or list(by_region)
        home_region = rng.choice(regions)
        home = list(by_region[home_region])
        rng.shuffle(home)
        others = [c for c in words.cities if c[1] != home_region]
        rng.shuffle(others)
        ordered = home + others
        used: dict[str, int] = {}
        for index in range(count):
            city, region, postcode = ordered[index % len(ordered)]
            used[city] = used.get(city, 0) + 1
            name = f"Fabrique {city}" + (f" {used[city]}" if used[city] > 1 else "")
            created = self.stamp(self.window_start - timedelta(days=rng.randint(120, 365)))
            row = self.synced(
                "site",
                created,
                name=name,
                city=city,
                region=region,
                operator=rng.choice(words.operators),
                address=f"{rng.randint(1, 120)} {rng.choice(words.streets)}, {postcode} {city}",
                active=True,
            )
            site = GeneratedSite(row=row, created=created, city=city, region=region)
            site.programmes = rng.sample(
                words.programmes, k=min(len(words.programmes), rng.randint(2, 4))
            )
            self.sites.append(site)

    def make_partners(self) -> None:
        rng, words = self.rng, self.words
        sites = self.sites
        links: dict[str, list[GeneratedSite]] = {}  # partner key -> sites, in order of appearance
        kinds: dict[str, str] = {}
        names: dict[str, str] = {}

        def link(key: str, name: str, kind: str, site: GeneratedSite) -> None:
            names.setdefault(key, name)
            kinds.setdefault(key, kind)
            linked = links.setdefault(key, [])
            if not any(s is site for s in linked):
                linked.append(site)

        city_names = [c[0] for c in words.cities]
        region_of_city = {c[0]: c[1] for c in words.cities}

        def place_of(name: str) -> tuple[str, str]:
            """The city (or region) a partner's name mentions, if any."""
            for city in sorted(city_names, key=len, reverse=True):
                if re.search(rf"\b{re.escape(city)}\b", name):
                    return city, region_of_city[city]
            for region in dict.fromkeys(region_of_city.values()):
                if region in name:
                    return "", region
            return "", ""

        for site in sites:  # operators: one per site, some also train
            operator = site.row["operator"]
            trains = contains_any(
                operator, ("afpa", "greta", "formation", "école", "lycée", "e2c", "epide")
            )
            kind = "operator,training" if trains else "operator"
            link(f"operator:{site.row['id']}", f"{operator} — {site.city}", kind, site)

        local_prefixes = ("Région", "Département", "Métropole", "Ville")
        national = [f for f in words.funders if not f.startswith(local_prefixes)] or words.funders
        for site in sites:
            local = [
                f
                for f in words.funders
                if f.startswith(local_prefixes) and (site.region in f or site.city in f)
            ]
            chosen = local + rng.sample(national, k=min(len(national), rng.randint(3, 4)))
            for funder in chosen:
                link(f"funder:{funder}", funder, "funder", site)
            site.funders = chosen
            site.regional_funders = local

        prescriber_places = {p: place_of(p) for p in words.prescribers}
        for site in sites:
            same_city = [p for p in words.prescribers if prescriber_places[p][0] == site.city]
            same_region = [
                p
                for p in words.prescribers
                if prescriber_places[p][1] == site.region and p not in same_city
            ]
            rest = [p for p in words.prescribers if p not in same_city and p not in same_region]
            chosen = same_city + rng.sample(same_region, k=min(len(same_region), 3))
            if len(chosen) < 4:
                chosen += rng.sample(rest, k=min(len(rest), 4 - len(chosen)))
            for prescriber in chosen:
                link(f"prescriber:{prescriber}", prescriber, "prescriber", site)

        for site in sites:
            for employer in rng.sample(
                words.employers, k=min(len(words.employers), rng.randint(10, 14))
            ):
                link(f"employer:{employer}", employer, "employer", site)

        training_places = {t: place_of(t) for t in words.training_orgs}
        for site in sites:
            near = [
                t
                for t in words.training_orgs
                if training_places[t][0] == site.city or training_places[t][1] == site.region
            ]
            general = [t for t in words.training_orgs if not any(training_places[t])]
            chosen = near + rng.sample(general, k=min(len(general), max(2, 4 - len(near))))
            for org in chosen:
                link(f"training:{org}", org, "training", site)

        partner_ids: dict[str, str] = {}
        for key, linked in links.items():
            first_site = min(linked, key=lambda s: s.created)
            created = self.stamp(first_site.created.date() + timedelta(days=rng.randint(0, 20)))
            name = names[key]
            kind = kinds[key]
            place = prescriber_places.get(name) or training_places.get(name) or ("", "")
            city = place[0] or ("" if kind == "funder" and name in national else first_site.city)
            contact_first, contact_last = self.person_name("F" if rng.random() < 0.6 else "M")
            email = None
            if rng.random() < 0.9:
                domain = ascii_slug(name)
                if len(domain) > 40:  # cut at a word, never leave a lone "d" or "l"
                    domain = domain[:41].rsplit("-", 1)[0]
                    if "-" in domain and len(domain.rsplit("-", 1)[1]) == 1:
                        domain = domain.rsplit("-", 1)[0]
                domain = domain or "partenaire"
                local = (
                    f"{ascii_slug(contact_first) or 'contact'}.{ascii_slug(contact_last) or 'x'}"
                )
                email = f"{local}@{domain}.example.org"
            phone = self.landline(first_site.region) if rng.random() < 0.85 else None
            row = self.synced(
                "partner",
                created,
                name=name,
                kinds=kind,
                contact_name=f"{contact_first} {contact_last}",
                email=email,
                phone=phone,
                city=city,
                notes="",
            )
            partner_ids[key] = row["id"]
            for site in linked:
                link_created = max(created, site.created)
                self.synced(
                    "partner_site",
                    link_created,
                    id=partner_site_id(row["id"], site.row["id"]),
                    partner_id=row["id"],
                    site_id=site.row["id"],
                )
                if kind == "prescriber":
                    site.prescribers.append(row["id"])
                elif kind == "employer":
                    site.employers.append(row["id"])
                elif kind == "training":
                    site.training.append(row["id"])
        for site in sites:  # an operator that trains counts among the site's training partners
            key = f"operator:{site.row['id']}"
            if "training" in kinds[key]:
                site.training.append(partner_ids[key])
