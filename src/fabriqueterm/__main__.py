from fabriqueterm.cli import main

raise SystemExit(main())
