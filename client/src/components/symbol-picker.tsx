// A ticker input with suggestions from the universe: an ARIA 1.2 combobox (input + listbox)
// rather than a <datalist>, because a datalist cannot rank (ticker prefix before company
// name), cannot show more than the value in every browser, and its popup is not styleable.
// The list is positioned `fixed` under the input so a scrolling table does not clip it.
// Free text is always allowed: the API decides whether a symbol is known.
import type { JSX, TargetedKeyboardEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { matchSymbols, type SymbolOption } from "../lib/what-if-holdings.ts";

let pickerCount = 0;

export function SymbolPicker(props: {
  value: string;
  onInput: (value: string) => void;
  /** The accessible name (the table's column header is not one). */
  label: string;
  universe: readonly SymbolOption[] | null;
  invalid?: boolean;
  describedBy?: string | undefined;
  placeholder?: string;
  testId?: string;
  /** Tickers are upper case; labels of options and private holdings are kept as typed. */
  upperCase?: boolean;
}): JSX.Element {
  const [id] = useState(() => `symbol-picker-${++pickerCount}`);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [box, setBox] = useState<{ top?: number; bottom?: number; left: number; width: number } | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const suggestions = open && props.universe ? matchSymbols(props.universe, props.value, 8) : [];
  const expanded =
    suggestions.length > 0 &&
    !(suggestions.length === 1 && suggestions[0]?.symbol === props.value.trim().toUpperCase());

  // Follow the input while the list is open (the page or the table may scroll).
  useEffect(() => {
    if (!expanded) return;
    const place = () => {
      const rect = input.current?.getBoundingClientRect();
      if (!rect) return;
      // Below the input, or above it when the list (at most ~18rem) would leave the window.
      const room = 18 * 16 + 8;
      const above = window.innerHeight - rect.bottom < room && rect.top > window.innerHeight - rect.bottom;
      const width = Math.max(rect.width, 240);
      setBox(
        above
          ? { bottom: window.innerHeight - rect.top + 2, left: rect.left, width }
          : { top: rect.bottom + 2, left: rect.left, width },
      );
    };
    place();
    window.addEventListener("scroll", place, true);
    window.addEventListener("resize", place);
    return () => {
      window.removeEventListener("scroll", place, true);
      window.removeEventListener("resize", place);
    };
  }, [expanded]);

  const choose = (option: SymbolOption) => {
    props.onInput(option.symbol);
    setOpen(false);
    setActive(-1);
  };

  const onKeyDown = (event: TargetedKeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setOpen(true);
      setActive((index) => (suggestions.length === 0 ? -1 : (index + 1) % suggestions.length));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((index) => (suggestions.length === 0 ? -1 : index <= 0 ? suggestions.length - 1 : index - 1));
    } else if (event.key === "Enter" && expanded && active >= 0 && suggestions[active]) {
      event.preventDefault();
      choose(suggestions[active]);
    } else if (event.key === "Escape" && expanded) {
      event.preventDefault();
      setOpen(false);
      setActive(-1);
    }
  };

  const listId = `${id}-list`;
  return (
    <div class="symbol-picker">
      <input
        ref={input}
        id={id}
        type="text"
        role="combobox"
        aria-label={props.label}
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? `${id}-option-${active}` : undefined}
        aria-invalid={props.invalid ? true : undefined}
        aria-describedby={props.describedBy}
        autocomplete="off"
        autocapitalize="characters"
        spellcheck={false}
        placeholder={props.placeholder}
        data-testid={props.testId}
        value={props.value}
        onInput={(event) => {
          const next = event.currentTarget.value;
          props.onInput(props.upperCase ? next.toUpperCase() : next);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => {
          setOpen(false);
          setActive(-1);
        }}
        onKeyDown={onKeyDown}
      />
      <ul
        id={listId}
        // A list of options, styled as one (ul/li).
        // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: the listbox of the ARIA combobox pattern
        role="listbox"
        aria-label={`Symbols matching ${props.value}`}
        class="symbol-options"
        hidden={!expanded || box === null}
        style={
          box
            ? {
                ...(box.top !== undefined ? { top: `${box.top}px` } : { bottom: `${box.bottom}px` }),
                left: `${box.left}px`,
                width: `${box.width}px`,
              }
            : undefined
        }
      >
        {expanded
          ? suggestions.map((option, index) => (
              // Focus stays in the input, which points at the active option with aria-activedescendant
              // (WAI-ARIA combobox pattern).
              // biome-ignore lint/a11y/useFocusableInteractive: focus stays in the input (aria-activedescendant)
              <li
                key={option.symbol}
                id={`${id}-option-${index}`}
                // Styled as a list item.
                // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: an option of the listbox above
                role="option"
                aria-selected={index === active}
                class={index === active ? "active" : ""}
                // mousedown, not click: choosing must happen before the input's blur closes the list.
                onMouseDown={(event) => {
                  event.preventDefault();
                  choose(option);
                }}
              >
                <span class="symbol-option-ticker">{option.symbol}</span>
                {option.name ? <span class="symbol-option-name">{option.name}</span> : null}
              </li>
            ))
          : null}
      </ul>
    </div>
  );
}
