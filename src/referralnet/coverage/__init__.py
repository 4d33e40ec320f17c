"""Coverage review for the network secretariat: where can a victim not be helped today?

``groups`` (victim groups), ``matrix`` (providers and capacity within reach), ``gaps``,
``activity`` and ``disclosure`` (small-count suppression) and ``svgmap`` are pure; ``services``,
``activity_reads`` and ``breakdown_reads`` read the database, ``reports`` assembles the reports for ``controllers`` (HTTP) and ``cli``.
"""
