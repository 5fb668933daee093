"""Known findings: what earlier runs and editors said about a finding.

The layer between the analysis (detectors, scoring) and the reports: inline suppressions
(:mod:`.suppress`), review decisions (:mod:`.decisions`) and baselines (:mod:`.baseline`),
all applied by the engine before a report is written, and the fingerprints
(:mod:`.fingerprint`) that decisions and baselines key findings by. Nothing here imports
the reporters or the commands.
"""
