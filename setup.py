"""mysqlha: semi-synchronous MySQL/MariaDB failover under supervisord."""

from pathlib import Path

from setuptools import find_packages, setup

LINT = ["ruff>=0.5", "mypy>=1.8", "types-PyYAML", "types-PyMySQL"]  # what scripts/test.sh runs before pytest

setup(
    name="mysqlha",
    version="0.1.0",
    description="Semi-synchronous MySQL/MariaDB failover daemon driven through supervisord",
    long_description=Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["ha", "ha.*"]),
    install_requires=["PyMySQL>=1.0", "supervisor>=4.2", "PyYAML>=5.4"],
    extras_require={
        "test": ["pytest>=7", "prometheus-client>=0.17", "jsonschema>=4", *LINT],
        "lint": LINT,
        "dev": ["pytest>=7", *LINT],
        "metrics": ["prometheus-client>=0.17"],
        "bench": ["matplotlib"],
    },
    entry_points={"console_scripts": ["mysqlha=ha.cli:main"]},
    data_files=[
        ("share/mysqlha/conf", ["conf/mysqlha.yml", "conf/mysqlha.schema.json"]),
        ("share/mysqlha/supervisord.conf.d", [str(p) for p in sorted(Path("supervisord.conf.d").glob("*.conf"))]),
        ("share/mysqlha/init.d", ["init.d/supervisord", "init.d/supervisord.service"]),
    ],
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Database",
        "Topic :: System :: Clustering",
        "Environment :: No Input/Output (Daemon)",
    ],
)
